"""gateway-sync: asks for settings, then pipes a tap into target-gateway and reports.

Modules: ``runner`` (the command line, settings, state directory, verdict), ``prompts``
(questions and answer checks), ``pipeline`` (the two child processes and the pump between
them), ``child_logs`` (reading the children's structured log records).
"""
