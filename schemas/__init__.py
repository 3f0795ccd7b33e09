"""JSON Schemas shipped with batchgen (installed as the package `batchgen.schemas`)."""
