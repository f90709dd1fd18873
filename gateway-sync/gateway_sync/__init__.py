"""gateway-sync: prompts for settings, then pipes a tap into target-gateway."""
