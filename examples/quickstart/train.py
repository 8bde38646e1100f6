# train.py - one trial: Syne Tune runs `python train.py --C 3.2 --gamma 0.004 ...`
import argparse

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from syne_tune import Reporter

parser = argparse.ArgumentParser()
parser.add_argument("--C", type=float, default=1.0)
parser.add_argument("--gamma", type=float, default=0.01)
args, _ = parser.parse_known_args()  # Syne Tune also passes --st_checkpoint_dir

X, y = load_breast_cancer(return_X_y=True)  # bundled with scikit-learn: no download
model = make_pipeline(StandardScaler(), SVC(C=args.C, gamma=args.gamma))
folds = StratifiedKFold(n_splits=10, shuffle=True, random_state=0)
errors = 1 - cross_val_score(model, X, y, cv=folds)  # one validation error per fold
# the tuned metric and, next to it, the fold scores AutoTermination needs
Reporter()(error=errors.mean(), **{f"cv_fold_{i}": e for i, e in enumerate(errors)})
