"""NEST patches as images, against hand-worked layouts and healpy's xyf2pix."""

import healpy as hp
import numpy as np

from deepsphere.geometry.patch_images import (
    image_to_nest_patch,
    nest_patch_to_image,
    quadtree_index,
)


def test_quadtree_images_hand_worked():
    np.testing.assert_array_equal(nest_patch_to_image(np.array(["a", "b", "c", "d"])),
                                  [["a", "b"], ["c", "d"]])
    expected = np.array([[0, 1, 4, 5],
                         [2, 3, 6, 7],
                         [8, 9, 12, 13],
                         [10, 11, 14, 15]])
    np.testing.assert_array_equal(nest_patch_to_image(np.arange(16)), expected)
    batch = np.arange(32).reshape(2, 16)
    np.testing.assert_array_equal(image_to_nest_patch(nest_patch_to_image(batch)), batch)


def test_quadtree_images_follow_healpix_geometry():
    nside, face = 8, 6
    idx = quadtree_index(nside)
    col, row = np.meshgrid(np.arange(nside), np.arange(nside))
    pix = hp.xyf2pix(nside, col, row, face, nest=True)  # x = column, y = row
    np.testing.assert_array_equal(face * nside**2 + idx, pix)
    # image neighbours are sphere neighbours
    img = nest_patch_to_image(np.arange(face * nside**2, (face + 1) * nside**2))
    for a, b in [(img[:, :-1], img[:, 1:]), (img[:-1], img[1:])]:
        for p, q in zip(a.ravel(), b.ravel(), strict=True):
            assert q in hp.get_all_neighbours(nside, p, nest=True)
