"""Orbax checkpoints of the whole train state (plus the best mapping so far), resumable."""

import os
import sys
import threading
import time

import jax
import orbax.checkpoint as ocp

from clweadv.errors import InputError


class Checkpointer:
  """Saves synchronously (a checkpoint is complete or absent: orbax writes, then renames)."""

  def __init__(self, workdir, *, max_to_keep=2):
    self.directory = os.path.abspath(os.path.join(workdir, "checkpoints"))
    self.manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True,
                                             enable_async_checkpointing=False))

  def latest_step(self):
    return self.manager.latest_step()

  def save(self, step, tree):
    self.manager.save(int(step), args=ocp.args.StandardSave(tree), force=True)
    self.manager.wait_until_finished()

  def restore(self, step, like):
    abstract = jax.tree_util.tree_map(ocp.utils.to_shape_dtype_struct, like)
    # When a read fails, TensorStore's other pending reads call back into an event loop that
    # orbax has closed, and Python prints those callbacks' errors from background threads.
    # The failure itself is reported below, once; the echoes are dropped while the manager
    # shuts down, then the hooks are restored.
    hooks = sys.unraisablehook, threading.excepthook
    sys.unraisablehook, threading.excepthook = (lambda *_: None), (lambda *_: None)
    try:
      return self.manager.restore(step, args=ocp.args.StandardRestore(abstract))
    except Exception as e:  # pylint: disable=broad-except
      self.manager.close()
      time.sleep(0.2)  # The pending reads' callbacks run (and are dropped) meanwhile.
      # Orbax and TensorStore wrap the cause (a shape mismatch, a damaged file) in several
      # layers; the innermost message says what is wrong.
      while e.__cause__ is not None or e.__context__ is not None:
        e = e.__cause__ or e.__context__
      first = (str(e).strip().splitlines() or [type(e).__name__])[0]
      raise InputError(f"{self.directory}/{step}: cannot restore this checkpoint: it does not "
                       f"match this configuration or is damaged ({first[:200]}); use a new "
                       f"--workdir, or delete {step}/ to resume from an earlier checkpoint")
    finally:
      sys.unraisablehook, threading.excepthook = hooks

  def close(self):
    self.manager.close()
