"""Mistakes in visualizing: saliency, occlusion, integrated gradients, activation maximization,
Grad-CAM."""

from mutants import Mutant

SAL, OCC, IG, ACT, CAM = (
    "saliency-solution",
    "occlusion-solution",
    "ig-solution",
    "actmax-solution",
    "grad-cam-solution",
)
SAL_PARTS = {"saliency", "saliency-hidden"}
OCC_PARTS = {"occlusion", "occlusion-hidden"}
IG_PARTS = {"ig", "ig-hidden"}
ACT_PARTS = {"actmax", "actmax-hidden"}
CAM_PARTS = {"grad-cam", "grad-cam-hidden"}
P_CLEAN = "p_clean = torch.softmax(model(torch.tensor(x[None])), dim=1)[0, target]"
P_HIDDEN = "p_hidden = torch.softmax(model(torch.tensor(np.stack(occluded))), dim=1)[:, target]"

MUTANTS = [
    Mutant(
        "saliency-signed",
        "keeps the sign of the gradient",
        {SAL: [("grad[0].abs().amax(dim=0)", "grad[0].amax(dim=0)")]},
        "max over the channels of |d s_t / d x|",
        SAL_PARTS,
    ),
    Mutant(
        "saliency-sums-channels",
        "adds the channels' gradients instead of taking the largest",
        {SAL: [("grad[0].abs().amax(dim=0)", "grad[0].abs().sum(dim=0)")]},
        "max over the channels of |d s_t / d x|",
        SAL_PARTS,
    ),
    Mutant(
        "saliency-of-probability",
        "differentiates the softmax probability instead of the score",
        {
            SAL: [
                (
                    "score = model(batch)[0, target]",
                    "score = torch.softmax(model(batch), dim=1)[0, target]",
                )
            ]
        },
        "s_t the score (a logit)",
        SAL_PARTS,
    ),
    Mutant(
        "occlusion-misses-last-position",
        "range(0, H - patch, stride): the last patch position is missing",
        {
            OCC: [
                (
                    "range(0, (h - patch) // stride * stride + 1, stride)",
                    "range(0, h - patch, stride)",
                ),
                (
                    "range(0, (w - patch) // stride * stride + 1, stride)",
                    "range(0, w - patch, stride)",
                ),
            ]
        },
        "off-by-one in the output-size formula",
        OCC_PARTS,
    ),
    Mutant(
        "occlusion-ignores-fill",
        "hides the patch with zeros whatever fill is",
        {
            OCC: [
                (
                    "hidden[:, r : r + patch, c : c + patch] = fill",
                    "hidden[:, r : r + patch, c : c + patch] = 0.0",
                )
            ]
        },
        "the patch holds fill, not zeros",
        OCC_PARTS,
    ),
    Mutant(
        "occlusion-first-channel",
        "hides the patch in the first channel only",
        {
            OCC: [
                (
                    "hidden[:, r : r + patch, c : c + patch] = fill",
                    "hidden[0, r : r + patch, c : c + patch] = fill",
                )
            ]
        },
        "the patch holds fill in every channel",
        OCC_PARTS,
    ),
    Mutant(
        "occlusion-sign-flipped",
        "p_t(occluded) - p_t(x): the sign of the drop flipped",
        {OCC: [("return (p_clean - p_hidden)", "return (p_hidden - p_clean)")]},
        "the opposite sign",
        OCC_PARTS,
    ),
    Mutant(
        "occlusion-scores",
        "measures the drop of the score instead of the probability",
        {
            OCC: [
                (P_CLEAN, "p_clean = model(torch.tensor(x[None]))[0, target]"),
                (P_HIDDEN, "p_hidden = model(torch.tensor(np.stack(occluded)))[:, target]"),
            ]
        },
        "p_t is softmax's probability, not the score",
        OCC_PARTS,
    ),
    Mutant(
        "ig-left-endpoints",
        "alpha_k = k / steps instead of the midpoints",
        {IG: [("alphas = (np.arange(steps) + 0.5) / steps", "alphas = np.arange(steps) / steps")]},
        "the midpoints",
        IG_PARTS,
    ),
    Mutant(
        "ig-times-x",
        "multiplies the mean gradient by x, not by x - baseline",
        {
            IG: [
                (
                    "return (x - start) * grads.mean(dim=0).numpy()",
                    "return x * grads.mean(dim=0).numpy()",
                )
            ]
        },
        "multiply the mean gradient by x - baseline",
        IG_PARTS,
        hidden_passes="zero baseline",
    ),
    Mutant(
        "ig-sum-of-gradients",
        "sums the gradients along the path instead of averaging them",
        {IG: [("grads.mean(dim=0)", "grads.sum(dim=0)")]},
        "a sum where a mean belongs",
        IG_PARTS,
    ),
    Mutant(
        "actmax-forgets-penalty",
        "leaves out the L2 penalty's gradient",
        {ACT: [("x = x + lr * (grad[0].numpy() - 2 * l2 * x)", "x = x + lr * grad[0].numpy()")]},
        "x + lr * (gradient - 2 * l2 * x)",
        ACT_PARTS,
    ),
    Mutant(
        "actmax-descends",
        "steps down the gradient instead of up",
        {
            ACT: [
                (
                    "x = x + lr * (grad[0].numpy() - 2 * l2 * x)",
                    "x = x - lr * (grad[0].numpy() - 2 * l2 * x)",
                )
            ]
        },
        "the opposite sign",
        ACT_PARTS,
    ),
    Mutant(
        "grad-cam-no-relu",
        "forgets the ReLU: negative evidence stays",
        {
            CAM: [
                (
                    "return torch.relu((alpha * maps).sum(dim=1))[0]",
                    "return (alpha * maps).sum(dim=1)[0]",
                )
            ]
        },
        "ReLU last",
        CAM_PARTS,
    ),
    Mutant(
        "grad-cam-alpha-sum",
        "alpha_k as the sum of the gradients over the positions, not their mean",
        {
            CAM: [
                (
                    "alpha = grads.mean(dim=(2, 3), keepdim=True)",
                    "alpha = grads.sum(dim=(2, 3), keepdim=True)",
                )
            ]
        },
        "4 times the expected one",
        CAM_PARTS,
    ),
]
