"""PLACEHOLDER."""
def openapi_document():
    return {}
