"""Static checks of what ships besides the code: chart, deploy/, Dockerfile, docs."""
