"""Plot a SLURM group job's stations side by side inside its allocation.

The job-step executor inside a group job runs its members' ``srun`` steps one after
another (snakemake-executor-plugin-slurm 2.8.0 with -jobstep 0.6.1; the plugin's open
issue "Group jobs run sequentially on Slurm"), leaving the allocation's other CPUs
idle. docs/slurm-ci.md says how this works around it, and when to delete it.
"""

from __future__ import annotations

import os
import threading


def group_job_cpus(workflow, environ=os.environ) -> int | None:
    """CPUs of the SLURM group job this Snakemake runs in, or None: only the
    plugin's in-job Snakemake runs in remote mode with ``--jobs 1`` inside a SLURM
    job (a member's own has no job limit); a one-CPU job needs nothing."""
    cpus = environ.get("SLURM_CPUS_PER_TASK", "")
    if (
        environ.get("SLURM_JOB_ID")
        and workflow.remote_exec
        and workflow.nodes == 1
        and cpus.isdigit()
        and int(cpus) > 1
    ):
        return int(cpus)
    return None


def run_members_in_parallel(workflow) -> int | None:
    """In a group job: start up to one member per CPU at once. Returns that width."""
    cpus = group_job_cpus(workflow)
    if cpus is None:
        return None
    from snakemake_executor_plugin_slurm_jobstep import Executor

    if not getattr(Executor.run_job, "in_thread", False):
        blocking = Executor.run_job

        def run_job(self, job):
            # The plugin's run_job submits the step, waits for it and reports the
            # result (the scheduler's callbacks take its lock): run it aside.
            threading.Thread(
                target=blocking, args=(self, job), name=f"srun {job}", daemon=True
            ).start()

        run_job.in_thread = True
        Executor.run_job = run_job
    workflow.register_resource("_nodes", cpus)
    return cpus
