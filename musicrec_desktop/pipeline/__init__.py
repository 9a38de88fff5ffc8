"""The whole job in order: library → cache → encoder → embeddings → rating model → recommendations
→ text search.

Qt-free: ``musicrec run`` and the tray run the same ``Pipeline`` (the tray in a child process,
``pipeline.child``). Each stage says whether it is up to date, so a second run only does what
changed; what each stage last finished is remembered in ``state/pipeline.json`` with a
fingerprint of its inputs, which includes when the stages before it last finished, so rerunning
one stage reruns the ones after it. ``runner`` runs stages, ``stages`` are the seven of them,
``state`` is what they share, ``lock`` keeps one run per data folder.
"""

from musicrec_desktop.pipeline.figures import figures_of
from musicrec_desktop.pipeline.lock import PipelineBusyError, exclusive_run
from musicrec_desktop.pipeline.runner import (
    FINISHED,
    NotNeeded,
    Pipeline,
    PipelineReport,
    Stage,
    StageResult,
    StageSkipped,
)
from musicrec_desktop.pipeline.stages import (
    STAGE_TITLES,
    CacheStage,
    EmbedStage,
    EncoderStage,
    LibraryStage,
    RatingStage,
    RecommendStage,
    TextSearchStage,
    full_pipeline,
    update_pipeline,
)
from musicrec_desktop.pipeline.state import PipelineState, StageRecord, model_built, state_path

__all__ = ["FINISHED", "STAGE_TITLES", "CacheStage", "EmbedStage", "EncoderStage", "LibraryStage",
           "NotNeeded", "Pipeline", "PipelineBusyError", "PipelineReport", "PipelineState", "RatingStage",
           "RecommendStage", "Stage", "StageRecord", "StageResult", "StageSkipped", "TextSearchStage",
           "exclusive_run", "figures_of", "full_pipeline", "model_built", "state_path", "update_pipeline"]
