"""레슨 07의 워커: 다중 워커 작업의 프로세스 하나. 레슨 07의 사용자 정의 훈련 루프로 훈련하고
에포크마다 체크포인트를 저장합니다.

워커마다 자기 TF_CONFIG를 주고 하나씩 시작합니다(레슨 07은 keraslab.jobs.run_job으로 두 개를 시작합니다):

    TF_CONFIG='{"cluster": {"worker": ["127.0.0.1:20000", "127.0.0.1:20001"]},
                "task": {"type": "worker", "index": 0}}' \\
        python notebooks/ko/scripts/mnist_worker.py --run two-workers --report-dir REPORTS --fresh

TF_CONFIG가 없으면 텐서플로의 기본 전략으로 혼자 훈련합니다. 레슨 03의 model_fn()을
MNIST 이미지 앞쪽 --samples개로 섞지 않고 훈련합니다. 전역 배치 크기는 --batch-size x 복제본 수입니다.
에포크가 끝날 때마다 체크포인트를 저장합니다(치프는 checkpoints/07_distributed/<run>에,
나머지 워커는 임시 폴더에 저장하고 바로 지웁니다). 그리고 한 일을 REPORTS/worker<index>.json에 씁니다.
--keras-fit을 주면 케라스 fit()으로 훈련합니다(체크포인트 없음).
"""

import argparse
import json
import os
import shutil
import tempfile
import time
import traceback
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keraslab import paths
from keraslab.data import load_mnist
from keraslab.models import model_fn

parser = argparse.ArgumentParser(description="레슨 07의 다중 워커 작업에 속한 워커 하나")
parser.add_argument("--run", default="multi-worker", help="실행 이름: checkpoints/07_distributed/<run>과 logs/…/<run>")
parser.add_argument("--epochs", type=int, default=6)
parser.add_argument("--samples", type=int, default=6000, help="사용할 MNIST 훈련 이미지 수")
parser.add_argument("--batch-size", type=int, default=32, help="복제본당 배치 크기. 전역 배치는 이 값 x 복제본 수")
parser.add_argument("--report-dir", help="worker<index>.json을 쓸 폴더")
parser.add_argument("--fresh", action="store_true", help="체크포인트에서 재개하지 않고 처음부터 시작")
parser.add_argument("--keras-fit", action="store_true", help="사용자 정의 루프 대신 케라스 fit()으로 훈련")
args = parser.parse_args()

# 나는 누구인가? TF_CONFIG에는 클러스터와 그 안에서 이 워커의 자리가 있습니다. 워커 0이 치프입니다
tf_config = json.loads(os.environ.get("TF_CONFIG") or "{}")
index = tf_config.get("task", {}).get("index", 0)
chief = index == 0
report = {"chief": chief}


def save_report(**values):
    """이 워커의 보고 파일에 ``values``를 추가합니다(파일 전체를 쓴 뒤 이름을 바꾸므로 반쯤 쓰인 파일은 없습니다)."""
    report.update(values)
    if args.report_dir:
        path = Path(args.report_dir) / f"worker{index}.json"
        path.with_suffix(".tmp").write_text(json.dumps(report))
        os.replace(path.with_suffix(".tmp"), path)


def train():
    # 워커마다 스레드 하나(두 워커가 이 컴퓨터를 나눠 씁니다). 그다음 다른 텐서플로 작업보다 먼저 전략을 만듭니다
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    strategy = tf.distribute.MultiWorkerMirroredStrategy() if tf_config else tf.distribute.get_strategy()
    keras.utils.set_random_seed(42)
    tf.config.experimental.enable_op_determinism()
    replicas = strategy.num_replicas_in_sync
    name = "MultiWorkerMirroredStrategy" if tf_config else "기본 전략"
    print(f"워커 {index} ({'chief' if chief else 'not chief'}): {name}, 동기화된 복제본: {replicas}", flush=True)
    global_batch = args.batch_size * replicas

    (x, y), (x_test, y_test) = load_mnist()
    x, y = (x[: args.samples] / np.float32(255)).astype("float32"), y[: args.samples].astype("int64")
    x_test, y_test = (x_test[:2000] / np.float32(255)).astype("float32"), y_test[:2000].astype("int64")

    if args.keras_fit:  # 전략 아래의 케라스 fit(): 케라스 3.15.1에서는 MultiWorkerMirroredStrategy 아래에서 실패합니다
        with strategy.scope():
            model = model_fn()
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=args.epochs, batch_size=global_batch, verbose=0)
        save_report(fit_loss=history.history["loss"][-1])
        return

    # 진짜 폴더에는 치프만 씁니다. 저장에는 모든 워커가 참여해야 하므로 나머지 워커는 임시 폴더에 씁니다
    checkpoint_dir = paths.checkpoints_dir() / "07_distributed" / args.run
    log_dir = paths.logs_dir() / "07_distributed" / args.run
    if chief and args.fresh:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        shutil.rmtree(log_dir, ignore_errors=True)
    write_to = checkpoint_dir if chief else Path(tempfile.gettempdir()) / f"keraslab-worker{index}-{args.run}"
    print(f"체크포인트 저장 위치: {paths.relative(write_to)}{'' if chief else ' (temporary, removed)'}", flush=True)
    save_report(checkpoint_dir=str(write_to), log_dir=str(log_dir) if chief else None)

    # 모델과 옵티마이저는 전략의 스코프 안에서 만듭니다. 모든 워커가 치프의 최신 체크포인트를 복원합니다
    with strategy.scope():
        model = model_fn()
        optimizer = keras.optimizers.Adam(1e-3)
        optimizer.build(model.trainable_variables)
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)  # 마지막으로 저장한 에포크
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch)
    latest = None if args.fresh else tf.train.latest_checkpoint(str(checkpoint_dir))
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()
        print(f"에포크 {int(epoch)}에서 재개 ({Path(latest).name})", flush=True)
    resumed_from = int(epoch)
    save_report(resumed_from_epoch=resumed_from)

    # 워커마다 데이터 전체를 읽고 전역 배치마다 자기 몫만 남깁니다
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    train_ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch, drop_remainder=True)
    test_ds = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(global_batch)
    train_dist = strategy.experimental_distribute_dataset(train_ds.with_options(options))
    test_dist = strategy.experimental_distribute_dataset(test_ds.with_options(options))
    loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)

    def replica_step(inputs, targets):  # 레슨의 사용자 정의 훈련 루프와 같은 훈련 스텝
        with tf.GradientTape() as tape:
            predictions = model(inputs, training=True)
            loss = tf.nn.compute_average_loss(loss_fn(targets, predictions), global_batch_size=global_batch)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return loss

    def replica_correct(inputs, targets):
        predicted = tf.argmax(model(inputs, training=False), axis=1)
        return tf.reduce_sum(tf.cast(predicted == targets, tf.int64))

    @tf.function
    def train_step(inputs, targets):
        per_replica_losses = strategy.run(replica_step, args=(inputs, targets))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_losses, axis=None)

    @tf.function
    def correct_count(inputs, targets):
        per_replica_counts = strategy.run(replica_correct, args=(inputs, targets))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica_counts, axis=None)

    writer = tf.summary.create_file_writer(str(log_dir / "train")) if chief else None
    done, losses = [], []
    for number in range(resumed_from + 1, args.epochs + 1):
        step_losses = [float(train_step(inputs, targets)) for inputs, targets in train_dist]
        losses.append(sum(step_losses) / len(step_losses))
        epoch.assign(number)
        tf.train.CheckpointManager(checkpoint, str(write_to), max_to_keep=2).save(checkpoint_number=number)
        if chief:
            with writer.as_default():
                tf.summary.scalar("epoch_loss", losses[-1], step=number)
            writer.flush()
        else:
            shutil.rmtree(write_to, ignore_errors=True)
        done.append(number)
        save_report(epochs=done, losses=losses)
        print(f"epoch {number}/{args.epochs} 손실={losses[-1]:.6f}", flush=True)
        if os.environ.get("KERASLAB_HOLD_AFTER_EPOCH") == str(number):
            time.sleep(3600)  # 레슨에서 종료할 워커는 여기서 기다립니다: 어떤 워커도 이 에포크를 넘지 못합니다

    accuracy = sum(int(correct_count(inputs, targets)) for inputs, targets in test_dist) / len(y_test)
    checksum = float(sum(np.abs(w).sum() for w in model.get_weights()))
    save_report(test_accuracy=accuracy, weights_checksum=checksum)
    print(f"완료: 에포크 {resumed_from + 1}-{args.epochs}, 테스트 정확도 {accuracy:.4f}", flush=True)


try:
    train()
except Exception as exc:
    save_report(error="".join(traceback.format_exception_only(exc)).strip())
    raise
