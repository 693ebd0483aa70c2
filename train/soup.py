"""Weight-space interpolation of the bundled MiniLM and a fine-tuned copy (WiSE-FT, Wortsman et al. 2022).

Usage: python -m train.soup FINE_TUNED_FOLDER ALPHA OUT_FOLDER

Writes a sentence-transformers folder whose every weight is (1 - ALPHA) * bundled + ALPHA * fine-tuned: fine-tuning
on SQuAD questions helps answer selection and hurts SciFact retrieval (docs/SELECTOR.md), and interpolating the
weights is the known way to keep part of the gain while giving back less of what the model knew before.
The fine-tuned folder must share the bundled model's architecture (train/encoders.py's bi-encoder does).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from safetensors.torch import load_file, save_file

from qa.index.embedder import bundled_model_path

WEIGHTS = "model.safetensors"


def soup(fine_tuned: Path, alpha: float, out: Path) -> None:
    """Write the interpolated model to out (a copy of the fine-tuned folder with mixed weights)."""
    base = load_file(str(Path(bundled_model_path()) / WEIGHTS))
    tuned = load_file(str(fine_tuned / WEIGHTS))
    if not tuned.keys() <= base.keys():  # the bundled file also holds a buffer (position ids) a re-save drops
        raise SystemExit(f"{fine_tuned} is not the bundled model's architecture")
    mixed = {k: ((1 - alpha) * base[k].float() + alpha * tuned[k].float()).contiguous() for k in tuned}
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(fine_tuned, out)
    save_file(mixed, str(out / WEIGHTS))


if __name__ == "__main__":
    soup(Path(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3]))
