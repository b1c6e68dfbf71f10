"""rtload.py - the reinject test harness (30-reinject-test.py) as the module
rt, for the tests written in Python that drive reinject.  The harness's file
name starts with a digit, so it cannot be imported by name."""
import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "rt", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "30-reinject-test.py"))
rt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rt)
