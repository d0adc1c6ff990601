"""Plot a SLURM group job's stations side by side inside its allocation.

With the SLURM profile, ``plot_station`` jobs are grouped: one cluster job plots K
stations and asks for the CPUs and memory of the stations it can plot at once. Inside
that job the executor plugin runs Snakemake with ``--executor slurm-jobstep --jobs 1``,
and the job-step executor waits for each member's ``srun`` to end before it starts the
next (snakemake-executor-plugin-slurm 2.8.0 with -jobstep 0.6.1; the plugin's open
issue "Group jobs run sequentially on Slurm"): the allocation's other CPUs would sit
idle. :func:`run_members_in_parallel` lets that in-job Snakemake start one member per
allocated CPU, each still its own ``srun`` step, Snakemake job and plot process.
"""

from __future__ import annotations

import os
import threading


def group_job_cpus(workflow, environ=os.environ) -> int | None:
    """CPUs of the SLURM group job this Snakemake runs in, or None.

    The plugin's in-job Snakemake is the only one that runs in remote mode with
    ``--jobs 1`` inside a SLURM job; the Snakemake of each member's ``srun`` step
    has no job limit, and a one-CPU job (an ungrouped plot) needs nothing.
    """
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
