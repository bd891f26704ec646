"""The use cases: each service method opens a unit of work and returns frozen results."""
