"""target-gateway: the Singer target that writes the standard commerce records to the Gateway.

Modules: ``target`` (the Target, run outcome), ``sinks`` (one thin sink per stream),
``writer`` (plans against the shop's Gateway state and writes only changes), ``gateway`` (THE
client: auth, routes, payloads, retries), ``images``, ``mapping``, ``report``, ``settings``;
``runner``/``pipeline``/``prompts`` are gateway-sync, the runner behind the Docker images.
"""
