"""target-gateway: the Singer target that writes the standard commerce records to the Gateway.

Modules, each named after what it holds: ``target`` (the Target, run outcome, command line),
``sinks`` (one thin sink per stream; stock levels), ``state`` (when STATE may be printed),
``writer`` (builds a run's parts and hands records between them), ``index`` (what the shop
already has in the Gateway, on disk), ``tags`` (the variant-tag registry), ``planner`` (record +
index -> writes, pure), ``executor`` (the writes, in a bounded pool), ``gateway`` (THE client:
auth, routes, payloads, retries), ``images``, ``categories`` (the category mapping),
``report``, ``settings``.
"""
