"""The bottom layer: plain types (events, stored kinds), time, durations, YAML with lines, personal codes. Imports no other room of bot/."""
