"""Every public name of rustimg is documented: functions, classes, each
class's own public methods and properties (the pybind11 ones included), and
each field of the result dataclasses."""
import dataclasses
import inspect
import re

import rustimg


def own_text(obj) -> str:
    """The docstring of `obj` without the signature line pybind11 puts first."""
    doc = inspect.getdoc(obj) or ""
    name = getattr(obj, "__name__", "")
    if name and doc.startswith(name + "("):
        doc = doc.split("\n", 1)[1] if "\n" in doc else ""
    return doc.strip()


def undocumented():
    missing = []
    for name in rustimg.__all__:
        obj = getattr(rustimg, name)
        if not (inspect.isclass(obj) or callable(obj)):
            continue  # __version__
        if not own_text(obj):
            missing.append(name)
        if not inspect.isclass(obj):
            continue
        for attr, value in vars(obj).items():
            if attr.startswith("_"):
                continue
            if isinstance(value, (property, classmethod, staticmethod)) or callable(value) \
                    or type(value).__name__ == "property":
                target = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
                if not own_text(target):
                    missing.append(f"{name}.{attr}")
        if dataclasses.is_dataclass(obj):
            doc = inspect.getdoc(obj) or ""
            for field in dataclasses.fields(obj):
                if not re.search(rf"^\s+{field.name}: \S", doc, re.M):
                    missing.append(f"{name}.{field.name}")
    return missing


def test_every_public_name_has_a_docstring():
    assert undocumented() == []


def test_the_walk_sees_pybind11_properties_and_dataclass_fields():
    """The walk covers what it claims to: Report's properties and methods,
    and BuildResult's fields."""
    props = [a for a, v in vars(rustimg.Report).items() if not a.startswith("_")]
    assert {"linkage", "fit_for_scratch", "needed", "to_dict"} <= set(props)
    assert all(own_text(getattr(rustimg.Report, a)) for a in props)
    assert "reports" in {f.name for f in dataclasses.fields(rustimg.BuildResult)}
