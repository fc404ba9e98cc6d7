"""Evacuation: walk and drive networks, shelters, the nearest safe shelter with room, emergency access."""
