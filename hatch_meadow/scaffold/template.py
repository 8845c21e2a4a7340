"""The packaged copier template, and running copier (an optional dependency) into a scratch folder."""

from __future__ import annotations

import contextlib
import sys
import tempfile
import warnings
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from hatch_meadow.errors import TemplateError

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from importlib.resources.abc import Traversable
    else:
        from importlib.abc import Traversable
from hatch_meadow.scaffold.answers import _raise_for
from hatch_meadow.scaffold.constants import _COPIER_VALIDATION, QUESTION_TYPES, TEMPLATE_NAME

# --- the template and copier ---------------------------------------------------------------------------


@contextlib.contextmanager
def template_dir() -> Iterator[Path]:
    """The packaged template folder (``hatch_meadow/templates/meadow-app`` in a wheel).

    An editable install or a source checkout has no ``hatch_meadow/templates``: the repository's
    ``templates/`` is used instead.

    Raises:
        TemplateError: neither exists (a broken installation).
    """
    from importlib.resources import files

    # One part per step: Traversable.joinpath takes several parts only from Python 3.11 on.
    packaged = files("hatch_meadow") / "templates" / TEMPLATE_NAME
    if packaged.is_dir():
        if isinstance(packaged, Path):  # an installed package on disk: use it in place
            yield packaged
            return
        # A package imported from a zip file: copy the template out. (importlib.resources.as_file
        # accepts a folder only from Python 3.12 on.)
        with tempfile.TemporaryDirectory(prefix="hatch-meadow-template-") as scratch:
            target = Path(scratch) / TEMPLATE_NAME
            _copy_traversable(packaged, target)
            yield target
            return
    checkout = Path(__file__).resolve().parents[2] / "templates" / TEMPLATE_NAME  # hatch_meadow/scaffold/…
    if (checkout / "copier.yml").is_file():
        yield checkout
        return
    raise TemplateError(f"the {TEMPLATE_NAME} template is missing from this hatch-meadow installation",
                        hint="reinstall hatch-meadow (pip install --force-reinstall 'hatch-meadow[new]')")


def _copy_traversable(source: Traversable, target: Path) -> None:
    """Copy a resource folder (any Traversable, e.g. inside a zip file) to ``target``, recursively."""
    target.mkdir(parents=True)
    for entry in source.iterdir():
        if entry.is_dir():
            _copy_traversable(entry, target / entry.name)
        else:
            (target / entry.name).write_bytes(entry.read_bytes())


def require_copier() -> None:
    """Raise TemplateError unless copier can be imported.

    Raises:
        TemplateError: saying exactly what to install.
    """
    try:
        import copier  # noqa: F401 - availability check only
    except ImportError as exc:
        raise TemplateError(
            "`hatch-meadow new` and `hatch-meadow update` need copier, which is not installed in this "
            "environment; nothing was written",
            hint="pip install 'hatch-meadow[new]'   (or: pip install 'copier>=9')",
        ) from exc


@contextlib.contextmanager
def _copier_errors(notes: list[str], *, derived: Collection[str] = ()) -> Iterator[None]:
    """Turn copier's exceptions into TemplateError, and its warnings into notes."""
    from copier.errors import CopierError, CopierWarning, InteractiveSessionError

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        except InteractiveSessionError as exc:
            raise TemplateError("copier needs a terminal to ask its questions; nothing was written",
                                hint="pass --defaults (and the answers as options) when not in a terminal") from exc
        except KeyboardInterrupt:  # copier's CopierAnswersInterrupt too: Ctrl-C stays Ctrl-C
            raise
        except ValueError as exc:  # a validator of copier.yml refused an answer (given, typed or derived)
            found = _COPIER_VALIDATION.match(str(exc))
            if found is None:
                raise TemplateError(f"{exc}; nothing was written", hint="see `hatch-meadow new --help`") from exc
            _raise_for([f"{found['name']}: {found['why']}"], derived=derived)
        except CopierError as exc:
            raise TemplateError(f"copier failed: {exc}", hint="nothing was written to the project") from exc
    notes.extend(str(w.message) for w in caught if issubclass(w.category, CopierWarning))


def _render(src: str, dest_name: str, scratch: Path, data: Mapping[str, object], *, defaults: bool,
            vcs_ref: str | None, notes: list[str]) -> Path:
    """Render template ``src`` with ``data`` into ``scratch/dest_name`` (copier's ``_folder_name``)."""
    from copier import Settings, run_copy

    out = scratch / dest_name
    with _copier_errors(notes, derived=set(QUESTION_TYPES) - set(data)):
        run_copy(src, out, data=dict(data), defaults=defaults, vcs_ref=vcs_ref, quiet=True, unsafe=False,
                 overwrite=True, settings=Settings())
    return out
