"""A real `weighbridge serve` (and `weighbridge demo`) over HTTP, on the bundled example."""
