"""Operating the service: embedded servers, topic set-up, the local launcher, sample data."""
