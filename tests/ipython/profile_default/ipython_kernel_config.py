# IPython profile for headless runs (make run, make outputs, pytest --nbval).
#
# TensorFlow's C++ runtime writes log lines with timestamps ("I0000 ... cudart_stub")
# straight to file descriptor 2, before TF_CPP_MIN_LOG_LEVEL applies. ipykernel would
# forward them into cell outputs at random moments, so stored outputs could never be
# compared. With this off they go to the kernel's own stderr (the terminal) instead;
# Python's warnings and prints still land in the notebook as usual.
c = get_config()  # noqa: F821
c.IPKernelApp.capture_fd_output = False
c.HistoryManager.enabled = False  # no history.sqlite in the repo
