"""The tap kit: everything a Gateway tap needs that is not about its platform."""
