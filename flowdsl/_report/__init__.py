"""Pictures of a flow and of a run: the timeline, the graph's layout, the SVG
drawings, the HTML report and the notebook displays.

Depends on the model and the run's state and result, never the other way
round (the result imports the report's modules only when asked for a picture).
"""
