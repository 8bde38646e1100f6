# tune.py - BOTorch tunes train.py until more trials would only buy noise
from syne_tune import StoppingCriterion, Tuner
from syne_tune.backend import LocalBackend
from syne_tune.config_space import loguniform
from syne_tune.optimizer.baselines import BOTorch
from syne_tune.results_callback import StoreResultsCallback

from syne_autoterm import AnyOf, AutoTermination, show_decisions

show_decisions()  # one line per stopping check, and early warnings about your inputs

config_space = {"C": loguniform(1e-2, 1e3), "gamma": loguniform(1e-5, 1e-1)}
scheduler = BOTorch(config_space, metric="error", do_minimize=True, random_seed=0)
autoterm = AutoTermination(metric="error", mode="min", fold_metrics="cv_fold_", scheduler=scheduler)
budget = StoppingCriterion(max_num_trials_completed=100)  # a safety net

tuner = Tuner(
    trial_backend=LocalBackend(entry_point="train.py"),
    scheduler=scheduler,
    stop_criterion=AnyOf(autoterm, budget),  # picklable: saved with the tuner
    n_workers=2,
    callbacks=[StoreResultsCallback(), autoterm],  # keep results; the rule is saved with the tuner
)
tuner.run()
print(autoterm.explain())
print("figure:", autoterm.plot("autoterm_decisions.png"))
