"""Tingyin (听音): a voice call center for food-delivery customer service."""

__version__ = "0.1.0"
