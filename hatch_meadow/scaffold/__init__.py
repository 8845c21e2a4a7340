"""New Meadow projects from the copier template shipped in the package, and updates to newer templates.

``render_project`` renders ``templates/meadow-app`` offline (no network, no git needed) into a scratch
folder, checks the final answers, then copies the files into DEST: an error leaves DEST untouched. The
answers go to ``.copier-answers.yml`` together with the hatch-meadow version and a short digest of every
file the template produced (the *baseline*).

``update_project`` brings such a project to a newer template, in one of two modes:

* ``copier-update``: the answers' ``_src_path`` (or ``template=``) is a git repository holding the
  template with release tags, it is reachable, it has the project's ``_commit`` tag, and the project is
  a clean git work tree. copier's own 3-way merge runs in a scratch clone; conflicts get inline markers.
* ``re-render``: otherwise. The newest template (the git one if reachable, else ``template=`` if it is a
  folder, else the installed package's) is rendered with the stored answers and compared with the
  project file by file against the baseline: a file only the template changed is replaced, a file only
  you changed is kept, a file both changed is kept and the template's version written beside it as
  ``<file>.new``. A .csproj is compared without hatch-meadow's ItemGroup, which the next build re-adds.

Both modes compute the full change set and its diff first; nothing is written unless ``yes`` (or the
``confirm`` callback) says so. copier is an optional dependency (``hatch-meadow[new]``), imported only here
and only when needed.
"""

from hatch_meadow import __version__
from hatch_meadow.creds.vocabulary import KEY_ENCRYPTIONS, KEY_TYPES
from hatch_meadow.scaffold.answers import check_answers, encode_answers, load_answers
from hatch_meadow.scaffold.constants import (
    ANSWERS_FILE,
    BASELINE_KEY,
    BOARDS,
    CONFLICT_SUFFIX,
    CSHARP_KEYWORDS,
    PACKAGED_SOURCE,
    QUESTION_TYPES,
    TAKEN_APP_NAMES,
    TEMPLATE_NAME,
    VERSION_KEY,
    WINDOWS_DEVICE_NAMES,
)
from hatch_meadow.scaffold.files import digest
from hatch_meadow.scaffold.render import RenderResult, render_project
from hatch_meadow.scaffold.template import template_dir
from hatch_meadow.scaffold.update import FileChange, UpdateResult, apply_changes, update_project

__all__ = [
    "ANSWERS_FILE", "BASELINE_KEY", "BOARDS", "CONFLICT_SUFFIX", "CSHARP_KEYWORDS", "KEY_ENCRYPTIONS", "KEY_TYPES",
    "PACKAGED_SOURCE", "QUESTION_TYPES", "TAKEN_APP_NAMES", "TEMPLATE_NAME", "VERSION_KEY", "WINDOWS_DEVICE_NAMES",
    "FileChange", "RenderResult", "UpdateResult", "__version__", "apply_changes", "check_answers", "digest",
    "encode_answers", "load_answers", "render_project", "template_dir", "update_project",
]
