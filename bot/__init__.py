"""Aftercare: post-purchase follow-up chatbot."""
