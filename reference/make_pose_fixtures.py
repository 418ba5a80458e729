"""Fixtures for VidPred's TFLite runner: BlazePose's detector and landmark models (the files
scripts/setup.sh extracts into .deps/models) run by TFLite's own interpreter (ai-edge-litert) on
an input made by a formula that the Swift test computes too:

    x[0, h, w, c] = ((h * 31 + w * 17 + c * 7) % 97) / 96

Writes Tests/TorchTests/Fixtures/blazepose.safetensors: the detector's two outputs whole, the
landmark model's landmarks, presence, world landmarks whole, and its heatmap (every 8th row and
column) and segmentation (every 16th) sampled, to keep the file small.

    reference/.venv/bin/python reference/make_pose_fixtures.py
"""
import os
import numpy as np
from ai_edge_litert.interpreter import Interpreter
from safetensors.numpy import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def formula_input(size):
    h, w, c = np.meshgrid(np.arange(size), np.arange(size), np.arange(3), indexing="ij")
    return (((h * 31 + w * 17 + c * 7) % 97) / 96).astype(np.float32)[None]


def run(name, size):
    interpreter = Interpreter(model_path=os.path.join(ROOT, ".deps/models", name))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], formula_input(size))
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details()]


detector = run("pose_detection.tflite", 224)
landmark = run("pose_landmark_full.tflite", 256)
out = {
    "detector.0": detector[0], "detector.1": detector[1],
    "landmark.0": landmark[0], "landmark.1": landmark[1], "landmark.4": landmark[4],
    "landmark.3.every8": np.ascontiguousarray(landmark[3][:, ::8, ::8, :]),
    "landmark.2.every16": np.ascontiguousarray(landmark[2][:, ::16, ::16, :]),
}
path = os.path.join(ROOT, "Tests/TorchTests/Fixtures/blazepose.safetensors")
save_file(out, path)
print(path, {k: v.shape for k, v in out.items()})
