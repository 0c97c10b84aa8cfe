"""Hinge loss, distillation loss, 2AFC and certified-score formulas against hand-computed values."""

import math

import pytest
import torch

from lipsim.train.losses import distillation_loss, hinge_two_afc_loss, labels_from_judgements, rmse
from lipsim.train.scores import certified_curve, certified_score, per_triplet_score, two_afc_score


def test_labels_from_judgements():
    p = torch.tensor([0.0, 0.2, 0.5, 0.51, 1.0])
    # round half to even: 0.5 -> 0 -> label -1
    assert labels_from_judgements(p).tolist() == [-1.0, -1.0, -1.0, 1.0, 1.0]


def test_hinge_loss_hand_computed():
    d0 = torch.tensor([0.30, 0.10, 0.20, 0.05])
    d1 = torch.tensor([0.10, 0.40, 0.25, 0.05])
    p = torch.tensor([1.0, 0.0, 0.9, 0.0])
    # y = [1, -1, 1, -1]; logit = d0 - d1 = [0.2, -0.3, -0.05, 0]
    # m=0.25: max(0, .25-.2)=.05, max(0, .25-.3)=0, max(0, .25+.05)=.3, max(0, .25-0)=.25 -> mean .15
    assert hinge_two_afc_loss(d0, d1, p, margin=0.25).item() == pytest.approx(0.15)
    assert hinge_two_afc_loss(d0, d1, p, margin=0.0).item() == pytest.approx(0.05 / 4)


def test_distillation_loss_hand_computed():
    t = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    fa = torch.tensor([[1.0, 0.0], [0.0, 0.0]])  # per-sample rmse: 0, sqrt(1/2)
    fb = torch.tensor([[0.0, 0.0], [0.0, 1.0]])  # per-sample rmse: sqrt(1/2), 0
    assert rmse(fa, t).item() == pytest.approx(math.sqrt(0.5) / 2)
    assert distillation_loss(fa, fb, t).item() == pytest.approx(0.5 * (math.sqrt(0.5) / 2 + math.sqrt(0.5) / 2))


def test_two_afc_soft_score_hand_computed():
    d0 = torch.tensor([0.1, 0.5, 0.3, 0.2])
    d1 = torch.tensor([0.2, 0.4, 0.3, 0.1])
    p = torch.tensor([0.25, 0.25, 0.9, 1.0])
    # triplet 1: d0<d1 -> 1-p = .75; 2: d1<d0 -> p = .25; 3: tie -> .5; 4: d1<d0 -> 1.0
    assert per_triplet_score(d0, d1, p).tolist() == pytest.approx([0.75, 0.25, 0.5, 1.0])
    assert two_afc_score(d0, d1, p) == pytest.approx(2.5 / 4)


def test_certified_score_hand_computed():
    d0 = torch.tensor([0.1, 0.5, 0.1, 0.2])
    d1 = torch.tensor([0.2, 0.4, 0.3, 0.1])
    p = torch.tensor([0.0, 1.0, 0.0, 0.0])  # correct, correct, correct, wrong
    radius = torch.tensor([0.5, 0.1, 0.05, 0.9])
    assert certified_score(d0, d1, p, radius, eps=0.0) == pytest.approx(3 / 4)
    assert certified_score(d0, d1, p, radius, eps=0.08) == pytest.approx(2 / 4)
    assert certified_score(d0, d1, p, radius, eps=0.2) == pytest.approx(1 / 4)
    curve = certified_curve(d0, d1, p, radius, torch.tensor([0.0, 0.08, 0.2, 1.0]))
    assert curve == pytest.approx([0.75, 0.5, 0.25, 0.0])
