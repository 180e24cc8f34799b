"""레슨 08의 JAX 쪽: 레슨 05의 훈련 단계를 JAX용으로 쓰고, 커널과 공유하는 시작점에서 실행합니다.

사용법(레슨이 이렇게 실행합니다. 케라스는 프로세스마다 백엔드를 한 번 고릅니다)::

    KERAS_BACKEND=jax python notebooks/ko/scripts/08_jax_train_step.py FOLDER

FOLDER에는 레슨의 텐서플로 커널이 쓴 ``initial.weights.h5``와 ``batches.npz``가 있습니다.
스크립트는 그 폴더에 ``jax_results.json``을 씁니다. 훈련 단계를 한 번 훑기 전과 후에 그 배치들에서 잰 손실,
그리고 스텝당 시간(세 번 더 훑은 것 중 가장 빠른 값)입니다.
"""

import json
import sys
import time
from pathlib import Path

import jax
import keras
import numpy as np

from keraslab.models import get_mnist_model

if keras.backend.backend() != "jax":
    sys.exit(f"케라스가 {keras.backend.backend()} 백엔드로 실행 중입니다: 이 스크립트는 KERAS_BACKEND=jax로 실행하세요")
keras.utils.set_random_seed(42)  # 실행할 때마다 같은 드롭아웃 마스크가 나옵니다

folder = Path(sys.argv[1])
data = np.load(folder / "batches.npz")
images, labels = data["images"], data["labels"]
batches = [(jax.numpy.asarray(images[i : i + 32]), jax.numpy.asarray(labels[i : i + 32]))
           for i in range(0, len(images), 32)]

model = get_mnist_model()
model.load_weights(folder / "initial.weights.h5")  # 커널이 저장한 초기 가중치
loss_fn = keras.losses.SparseCategoricalCrossentropy()
optimizer = keras.optimizers.RMSprop()
optimizer.build(model.trainable_variables)


def compute_loss_and_updates(trainable_variables, non_trainable_variables, inputs, targets):
    # 모델 자신의 변수가 아니라 전달받은 변수로 정방향 패스를 실행합니다
    predictions, non_trainable_variables = model.stateless_call(
        trainable_variables, non_trainable_variables, inputs, training=True
    )
    loss = loss_fn(targets, predictions)
    return loss, non_trainable_variables


grad_fn = jax.value_and_grad(compute_loss_and_updates, has_aux=True)


@jax.jit
def train_step(state, inputs, targets):
    trainable_variables, non_trainable_variables, optimizer_variables = state
    # 손실과 그레이디언트를 계산합니다
    (loss, non_trainable_variables), grads = grad_fn(trainable_variables, non_trainable_variables, inputs, targets)
    # 가중치와 옵티마이저의 변수를 업데이트합니다
    trainable_variables, optimizer_variables = optimizer.stateless_apply(
        optimizer_variables, grads, trainable_variables
    )
    return loss, (trainable_variables, non_trainable_variables, optimizer_variables)


# 확인: 훈련 단계를 한 번 훑기 전과 후에, 모든 배치에서 잰 손실
loss_before = float(loss_fn(labels, model(images, training=False)))
state = (
    [variable.value for variable in model.trainable_variables],
    [variable.value for variable in model.non_trainable_variables],
    [variable.value for variable in optimizer.variables],
)
for inputs, targets in batches:
    loss, state = train_step(state, inputs, targets)  # 첫 호출에서 훈련 단계를 컴파일합니다

# 최종 상태를 모델의 변수에 다시 씁니다
trainable_variables, non_trainable_variables, optimizer_variables = state
for variable, value in zip(model.trainable_variables, trainable_variables, strict=True):
    variable.assign(value)
for variable, value in zip(model.non_trainable_variables, non_trainable_variables, strict=True):
    variable.assign(value)
loss_after = float(loss_fn(labels, model(images, training=False)))

# 스텝당 시간: 세 번 더 훑은 것 중 가장 빠른 값(밀리초)
passes = []
for _ in range(3):
    start = time.perf_counter()
    for inputs, targets in batches:
        loss, state = train_step(state, inputs, targets)
    jax.block_until_ready(state)
    passes.append((time.perf_counter() - start) / len(batches) * 1000)

results = {"steps": len(batches), "loss_before": loss_before, "loss_after": loss_after, "step_ms": min(passes)}
(folder / "jax_results.json").write_text(json.dumps(results))
print("훈련되지 않는 변수:", [variable.path for variable in model.non_trainable_variables])
print(f"JAX 손실(훈련 전): {loss_before:.4f}")
print(f"JAX 손실({len(batches)} 스텝 훈련 후): {loss_after:.4f}")
