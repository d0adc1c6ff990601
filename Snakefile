# The entry point: `snakemake --cores 4` from this folder runs the workflow defined in
# workflow/Snakefile (where the Snakemake workflow catalog and snakedeploy look for
# it). One definition: this file only includes it.
include: "workflow/Snakefile"


# An include never sets the including file's default target (Snakemake keeps it
# unchanged), so name workflow/Snakefile's `default_target: True` rule here.
workflow.default_target = rules.all.rule.name
