# Included before the Snakefile's configfile: a YAML mistake in config/config.yaml
# (a station appended after the last section, a tab) gets a message naming the file,
# the line and the column; Snakemake's own names neither.
import os


def check_yaml_syntax(path):
    import yaml
    from snakemake.exceptions import WorkflowError

    if workflow.modifier.skip_configfile or not os.path.exists(path):
        return  # Snakemake does not load it (a module), or says it is missing
    # libyaml's loader where PyYAML has it: this parse is on every run's start-up,
    # and a 10,000-station config.yaml took 3.3 s with the pure-Python one, 0.7 s.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        with open(path, encoding="utf-8") as file:
            yaml.load(file, Loader=loader)
    except yaml.YAMLError as error:
        raise WorkflowError(
            f"{path} is not valid YAML: {error}\nIf you added a station: it goes "
            "under 'stations:' as an indented '- id: ...' entry (config/README.md)."
        ) from None


check_yaml_syntax("config/config.yaml")
