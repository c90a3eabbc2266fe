"""The panels of the main window: configuration form, plots, samples, steer and log."""
