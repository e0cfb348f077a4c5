"""Deploy form -> artefacts: hls4ml project, RTL top level and weight memories."""
