"""The project's shared language: config, topics, schemas and the pure order domain."""
