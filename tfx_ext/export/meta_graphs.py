"""Which MetaGraph of a SavedModel is the served one (one rule for export and the server)."""

SERVE_TAG = "serve"


def serving_meta_graph(proto):
    """The MetaGraph TF Serving loads from a `SavedModel` proto: the one tagged `serve`
    (the first one if none is), as `saved_model_cli show --tag_set serve`."""
    if not proto.meta_graphs:
        raise ValueError("The SavedModel has no MetaGraph")
    for meta_graph in proto.meta_graphs:
        if SERVE_TAG in meta_graph.meta_info_def.tags:
            return meta_graph
    return proto.meta_graphs[0]
