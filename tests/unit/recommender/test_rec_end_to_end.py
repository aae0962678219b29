import numpy as np

from mysfits_lab.recommender.evaluation import accuracy, majority_baseline
from mysfits_lab.recommender.generator import generate, split
from mysfits_lab.recommender.hyperparameters import parse_hyperparameters
from mysfits_lab.recommender.knn import train


def test_knn_on_generated_data_gets_close_to_the_bayes_accuracy():
    dataset = generate(rows=300_000, seed=2)
    train_rows, test_rows = split(dataset.data, train_fraction=0.9, seed=0)
    hp = parse_hyperparameters(
        {"feature_dim": "5", "k": "10", "predictor_type": "classifier", "sample_size": "100000"}
    )
    model = train(hp, train_rows[:, :5], train_rows[:, 5], seed=0)
    predicted = model.predict(test_rows[:, :5]).predicted_label

    achieved = accuracy(test_rows[:, 5], predicted)
    bayes = dataset.report.bayes_accuracy
    assert achieved >= 0.95 * bayes
    assert achieved <= bayes + 0.01, "beating Bayes by more than noise would mean a leak"
    assert achieved > majority_baseline(test_rows[:, 5], train_rows[:, 5]) + 0.4
    assert set(np.unique(predicted)) <= set(range(12))
