"""Forecasting of hourly city indicators (城市生命体征): air quality, traffic, demand."""
