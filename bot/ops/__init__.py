"""The library side of the operators' commands: data rights and retention, the weekly digest, tell-fixed."""
