"""The collection blueprint: list the documents, upload one, delete one; each change starts an index job."""

from __future__ import annotations

from flask import Blueprint, abort, request
from werkzeug.exceptions import RequestEntityTooLarge

from qa.collection import add_file, check_upload, remove_file, safe_name
from qa.config import truthy
from qa.errors import TooLarge, UploadRejected
from qa.http.admin import require_admin
from qa.http.context import service
from qa.http.jobs import start_build

bp = Blueprint("documents", __name__, url_prefix="/api")
MULTIPART_SLACK = 64 * 1024  # room for the multipart headers and boundaries around the file itself


@bp.get("/documents")
def documents():
    """Every indexed document, and the files that could not be read and why."""
    return service().collection()


@bp.post("/documents")
def upload():
    """Add (or with replace=true overwrite) one file in the corpus folder, then index it as a job."""
    require_admin()
    settings = service().settings
    if request.mimetype != "multipart/form-data":
        abort(415, "send the file as multipart/form-data in the field 'file'")
    # This route only: a file may be up to QA_MAX_FILE_MB, where every JSON body stays within 64 KiB.
    request.max_content_length = int(settings.max_file_mb * 1024 * 1024) + MULTIPART_SLACK
    try:
        upload = request.files.get("file")
        replace = truthy(request.form.get("replace", request.args.get("replace", "")))
    except RequestEntityTooLarge:
        raise TooLarge(f"the upload is larger than {settings.max_file_mb:g} MB (QA_MAX_FILE_MB)") from None
    if upload is None:
        raise UploadRejected("no file in the field 'file' of the multipart body")
    name = safe_name(upload.filename)
    data = upload.read(int(settings.max_file_mb * 1024 * 1024) + 1)
    check_upload(name, data, settings.max_file_mb)
    added = add_file(settings.corpus_dir, name, data, replace)
    return start_build("upload", {"document": added})


@bp.delete("/documents/<path:doc_id>")
def delete(doc_id: str):
    """Remove a file from the corpus folder, then drop it from the index as a job."""
    require_admin()
    if not remove_file(service().settings.corpus_dir, doc_id):
        abort(404, f"no file {doc_id!r} in the corpus folder")
    return start_build("delete", {"document": {"doc_id": doc_id}})
