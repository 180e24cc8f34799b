"""레슨 06: 강제로 종료되어도 살아남는 훈련. 실행하고, 종료하고, 다시 실행하면 이어서 훈련합니다.

    python scripts/resumable_training.py --folder FOLDER [--epochs 12] [--fresh] [--pause-after-epoch N]

모든 파일을 FOLDER에 씁니다: best.keras, training.csv, backup/, 그리고 마지막에 final.weights.h5.
--fresh가 없으면 이전 시도가 남긴 것에서 이어서 훈련합니다.
폴더 하나에 훈련 프로세스 하나: 실행되는 동안 FOLDER/trainer.lock의 운영 체제 잠금을 쥡니다.
같은 폴더에서 두 번째 프로세스를 시작하면 첫 번째 프로세스를 밝히고 바로 멈춥니다.
--pause-after-epoch N을 주면 "epoch N done"을 출력한 뒤 기다립니다. 그래서 그 줄을 보고 보낸
종료 신호가 어느 컴퓨터에서나 같은 지점에 도착합니다.
"""

import argparse
import contextlib
import os
import shutil
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402
import numpy as np  # noqa: E402

from keraslab import resume, saving  # noqa: E402


def get_data(num_samples=3000):
    """20차원 점들의 3개 클래스. 시드를 고정해서 모든 프로세스가 같은 배열을 얻습니다."""
    rng = np.random.default_rng(0)
    centers = rng.normal(0, 2, (3, 20))
    y = rng.integers(0, 3, num_samples)
    x = (centers[y] + rng.normal(0, 1.5, (num_samples, 20))).astype("float32")
    return x, y.astype("int64")


def get_model():
    model = keras.Sequential([
        keras.Input(shape=(20,)),  # 바로 빌드됨: BackupAndRestore는 복원할 가중치가 필요합니다
        keras.layers.Dense(64, activation="relu", name="hidden"),
        keras.layers.Dense(3, activation="softmax", name="probabilities"),
    ], name="resumable")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@contextlib.contextmanager
def one_trainer(folder):
    """블록이 실행되는 동안 folder/trainer.lock의 운영 체제 잠금을 쥡니다. 다른 프로세스가 쥐고 있으면 거부합니다.

    프로세스가 어떻게 끝나든 운영 체제가 잠금을 풉니다. 강제 종료된 실행은 재시작을 막지 않습니다.
    """
    path = Path(folder) / "trainer.lock"
    if path.is_symlink():  # 링크를 거쳐 쓰면 폴더 밖에 닿을 수 있습니다
        raise RuntimeError(f"{path}: 거부합니다: 잠금 파일이 아니라 심볼릭 링크입니다. 링크를 지우세요.")
    lock = open(path, "a+")  # 잠금을 얻기 전에는 절대 비우지 않습니다
    try:
        if os.name == "nt":
            import msvcrt

            lock.seek(1 << 20)  # 텍스트 너머의 바이트 하나를 잠급니다. 텍스트는 계속 읽을 수 있습니다
            msvcrt.locking(lock.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.seek(0)
        holder = lock.read().strip() or "아직 이름을 적지 않은 프로세스"
        lock.close()
        raise RuntimeError(f"{folder}: 거부합니다: 다른 훈련 프로세스가 이 폴더를 씁니다.\n  잠금을 쥔 것: {holder}.\n"
                           "  한 폴더에 훈련 프로세스가 둘이면 서로의 백업과 로그를 덮어씁니다. 그 프로세스가 끝나기를 "
                           "기다리거나, 멈추거나, 이 실행에 다른 --folder를 주세요.") from None
    lock.truncate(0)
    lock.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}, command: {' '.join(sys.argv)}\n")
    lock.flush()
    try:
        yield
    finally:
        lock.close()  # 잠금을 풉니다


class PrintProgress(keras.callbacks.Callback):
    """백업 콜백 뒤에 둡니다: 'epoch N done'은 에포크 N의 백업이 끝났다는 뜻입니다."""

    def __init__(self, backup, pause_after_epoch=None):
        super().__init__()
        self.backup, self.pause_after_epoch = backup, pause_after_epoch

    def on_train_begin(self, logs=None):
        print(f"epochs already finished: {self.backup.resumed_from_epoch}", flush=True)

    def on_epoch_end(self, epoch, logs=None):
        print(f"epoch {epoch + 1} done, 손실 {logs['loss']:.4f}", flush=True)
        if epoch + 1 == self.pause_after_epoch:
            time.sleep(600)  # 여기서 기다리다가 종료됩니다


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--fresh", action="store_true", help="이전 시도가 남긴 것을 지웁니다")
    parser.add_argument("--pause-after-epoch", type=int, help="이 에포크가 끝난 뒤 기다립니다 (그 지점에서 종료되도록)")
    args = parser.parse_args(argv)
    try:
        saving.refuse_links(args.folder)  # 링크로 된 실행 폴더는 --fresh와 모든 저장을 다른 곳으로 이끕니다
        args.folder.mkdir(parents=True, exist_ok=True)
        with one_trainer(args.folder):
            train(args)
    except (RuntimeError, saving.CheckpointError) as error:  # 트레이스백이 아니라 문장 하나
        sys.exit(str(error))


def train(args):
    if args.fresh:  # 이전 시도가 남긴 모든 것을 지웁니다. 단, 우리가 쥔 잠금 파일은 빼고
        for entry in args.folder.iterdir():
            if entry.name != "trainer.lock":
                entry.unlink() if entry.is_symlink() or not entry.is_dir() else shutil.rmtree(entry)

    keras.utils.set_random_seed(42)  # 시도할 때마다 같은 출발점
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    x, y = get_data()
    model = get_model()

    log = args.folder / "training.csv"
    checkpoint = resume.AtomicModelCheckpoint(str(args.folder / "best.keras"), monitor="val_loss", save_best_only=True)
    backup = resume.SafeBackupAndRestore(args.folder / "backup", checkpoint=checkpoint, csv_log=log,
                                         delete_checkpoint=False)  # 남겨 둠: 끝난 뒤 다시 실행하면 훈련하지 않음
    try:
        model.fit(x, y, validation_split=0.2, epochs=args.epochs, batch_size=32, shuffle=False, verbose=0,
                  callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True), checkpoint,
                             keras.callbacks.CSVLogger(str(log), append=True), backup,
                             PrintProgress(backup, args.pause_after_epoch)])
        saving.save_weights(model, args.folder / "final.weights.h5")
    except (saving.CheckpointError, OSError) as error:  # 가득 찬 디스크, 심어 둔 링크: 무엇이 남았는지 말합니다
        if not isinstance(error, saving.CheckpointError):  # 예를 들어 CSVLogger의 쓰기
            error = f"{args.folder}: 그곳에 쓸 수 없습니다 ({error}). 공간을 비운 뒤 다시 실행하세요."
        kept = backup.backed_up_epoch and f"\n남은 것: 에포크 {backup.backed_up_epoch}의 백업 ({backup.folder})"
        raise saving.CheckpointError(f"{error}{kept or ''}") from None  # 그러면 같은 명령이 그 백업에서 재개합니다
    _, accuracy = model.evaluate(x[2400:], y[2400:], verbose=0)
    print(f"{args.epochs}개 에포크 완료, 검증 정확도: {accuracy:.4f}")


if __name__ == "__main__":
    main()
