"""Generative classifiers against scikit-learn's naive Bayes, LDA and QDA."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis, QuadraticDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import BernoulliNB, GaussianNB

from jaxgen.classical.bayes import fit_bayes_classifier, fit_logistic_regression

X, Y = make_classification(600, n_features=5, n_informative=4, n_redundant=0, n_classes=3, random_state=0)
X = X.astype(np.float32)


@pytest.mark.parametrize("model,ref", [("gaussian_nb", GaussianNB()), ("lda", LinearDiscriminantAnalysis()),
                                       ("qda", QuadraticDiscriminantAnalysis(reg_param=0.0))])
def test_gaussian_classifiers_match_sklearn_posteriors(model, ref):
    ours = fit_bayes_classifier(X, Y, 3, model, reg=0.0)
    ref.fit(X, Y)
    np.testing.assert_allclose(ours.posterior(jnp.asarray(X)), ref.predict_proba(X), atol=2e-4)
    assert (np.asarray(ours.predict(jnp.asarray(X))) == ref.predict(X)).mean() > 0.995


def test_bernoulli_naive_bayes_matches_sklearn():
    digits = load_digits()
    xb = (digits.data > 7).astype(np.float32)
    ours = fit_bayes_classifier(xb, digits.target, 10, "bernoulli_nb", alpha=1.0)
    ref = BernoulliNB(alpha=1.0).fit(xb, digits.target)
    np.testing.assert_allclose(ours.joint_log_prob(jnp.asarray(xb[:50])), ref.predict_joint_log_proba(xb[:50]),
                               rtol=1e-4)


def test_marginal_density_and_gmm_classifier():
    model = fit_bayes_classifier(X, Y, 3, "gmm", key=jax.random.key(0), num_components=2)
    joint = np.asarray(model.joint_log_prob(jnp.asarray(X[:10])))
    np.testing.assert_allclose(model.log_prob(jnp.asarray(X[:10])), np.logaddexp.reduce(joint, 1), rtol=1e-5)
    qda = fit_bayes_classifier(X, Y, 3, "qda")
    acc = lambda m: float(np.mean(np.asarray(m.predict(jnp.asarray(X))) == Y))
    assert acc(model) >= acc(qda) - 0.02  # a mixture per class fits at least about as well as one Gaussian


def test_logistic_regression_matches_sklearn():
    ours = fit_logistic_regression(X, Y, 3, l2=1e-2)
    # sklearn minimises C * sum CE + |W|^2 / 2: the same objective with C = 1 / (N l2)
    ref = LogisticRegression(C=1.0 / (len(X) * 1e-2), max_iter=2000, tol=1e-8).fit(X, Y)
    np.testing.assert_allclose(ours.posterior(jnp.asarray(X)), ref.predict_proba(X), atol=2e-3)


def test_bad_classifier_input_is_named():
    with pytest.raises(ValueError, match="classifier 'svm'"):
        fit_bayes_classifier(X, Y, 3, "svm")
    with pytest.raises(ValueError, match="every class"):
        fit_bayes_classifier(X, Y, 4, "qda")
