# The entry point: `snakemake --cores 4` from this folder runs the workflow defined in
# workflow/Snakefile (where the Snakemake workflow catalog and snakedeploy look for
# it). One definition: this file only includes it.
include: "workflow/Snakefile"


# Snakemake's documented `default_target: True` (rule all has it) counts only in the
# main Snakefile: include() restores the including file's default target afterwards.
# This is the setting that directive makes (Workflow.default_target), made here. Kept
# over the documented alternatives: a second target rule here would add a rule to
# every listing and job count, and no top-level Snakefile (Snakemake finds
# workflow/Snakefile by itself) would move the path that module users give.
workflow.default_target = rules.all.rule.name
