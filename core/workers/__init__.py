"""The child-process protocol: long-lived ClinLens children spoken to in JSON lines.

- parent side (``process``): ``WorkerProcess`` sends one request at a time and waits for
  its answer; ``clinlens_argv`` builds the command line that starts a ClinLens child;
  ``WorkerError`` is a refused request or a child that died.
- child side (``serve``): ``serve(handlers, *protocol_streams())`` answers requests with
  the ``Handler`` functions it is given, each writing events through an ``Emitter``;
  ``fatal`` says why a child cannot serve at all.

No Qt and no torch here: the detector worker (``ml.detector_worker``) and the training
worker build on it, and the GUI drives it from its job runner threads.
"""

from core.workers.process import WorkerError, WorkerProcess, clinlens_argv
from core.workers.serve import Emitter, Handler, fatal, protocol_streams, serve

__all__ = [
    "Emitter",
    "Handler",
    "WorkerError",
    "WorkerProcess",
    "clinlens_argv",
    "fatal",
    "protocol_streams",
    "serve",
]
