"""Chebyshev graph convolution (DeepSphere's ``chebyshev5``) as a Keras 3 layer."""

from __future__ import annotations

import functools
import json
import math

import keras
import numpy as np
import scipy.sparse as sp

from deepsphere.layers import sparse_ops

_LAPLACIAN_KEYS = {"graph", "kind", "interval", "lmax"}


@functools.lru_cache(maxsize=16)
def _laplacian_from_definition(key):
    spec = json.loads(key)
    from deepsphere.geometry.graphs import build_graph
    from deepsphere.geometry.laplacian import chebyshev_laplacian

    graph = build_graph(spec["graph"])
    return chebyshev_laplacian(
        graph.weights,
        spec.get("kind", "normalized"),
        tuple(spec.get("interval", (-1.0, 1.0))),
        spec.get("lmax", "eigsh"),
    )


#: matrix= is compared entry by entry with the definition's own graph up to this vertex count
#: (a small graph, built in a fraction of the layer's set-up); above it only the vertex count
#: is checked, so that a large cached graph is never rebuilt.
VERIFY_MAX_VERTICES = 20_000


def _definition_vertex_count(definition) -> int | None:
    """Vertex count of a graph definition without building it (None: not known cheaply)."""
    from deepsphere.geometry.definitions import graph_vertex_count

    try:
        return graph_vertex_count(definition)
    except (KeyError, TypeError, ValueError):
        return None  # a malformed definition: graph_id reports it


@functools.lru_cache(maxsize=16)
def _definition_graph_laplacian(key):
    """Unscaled Laplacian (float64) of a small definition's graph, cached per process."""
    spec = json.loads(key)
    from deepsphere.geometry.graphs import build_graph
    from deepsphere.geometry.laplacian import laplacian

    return laplacian(build_graph(spec["graph"]).weights.astype(np.float64), spec["kind"])


def _check_prebuilt_matrix(matrix, spec):
    """Refuse a ``matrix=`` that is not the rescaled Laplacian of the graph ``spec`` defines.

    Always: its size against the definition's vertex count (no graph is built). Up to
    :data:`VERIFY_MAX_VERTICES` vertices also its entries: ``matrix = alpha L + a I`` with ``L``
    the definition's own unscaled Laplacian, ``a`` the interval's start and one ``alpha > 0``
    (``(b - a) / lmax``; the lmax estimate itself is not recomputed, that needs an eigensolver).
    """
    from deepsphere.geometry.graphs import graph_id

    unknown = set(spec) - _LAPLACIAN_KEYS
    if unknown:
        raise ValueError(
            f"Unknown laplacian keys {sorted(unknown)}; allowed: {sorted(_LAPLACIAN_KEYS)}."
        )
    definition, kind = spec["graph"], spec.get("kind", "normalized")
    gid = graph_id(definition)
    n, m = _definition_vertex_count(definition), matrix.shape[0]
    per_row = matrix.nnz / max(m, 1)
    if n is not None and n != m:
        raise ValueError(
            f"matrix= is {m}x{m} ({per_row:.1f} entries per row) but laplacian= defines the "
            f"graph {gid!r} with {n} vertices: matrix= must be the rescaled Laplacian of that "
            "very graph. Pass the matrix built from that graph (e.g. its cached graph file), or "
            "leave out matrix= to build it from the definition."
        )
    if n is None or n > VERIFY_MAX_VERTICES:
        return
    L = _definition_graph_laplacian(json.dumps({"graph": definition, "kind": kind},
                                               sort_keys=True))
    a = float(tuple(spec.get("interval", (-1.0, 1.0)))[0])
    shifted = sp.csr_matrix(matrix, dtype=np.float64) - a * sp.eye(m, format="csr")
    alpha = float(shifted.multiply(L).sum() / max(L.multiply(L).sum(), 1e-300))
    residual = abs(shifted - alpha * L)
    scale = max(float(abs(matrix).max()), 1e-30)
    if alpha <= 0 or (residual.nnz and residual.max() > 1e-4 * scale):
        raise ValueError(
            f"matrix= ({m}x{m}, {per_row:.1f} entries per row) is not the {kind} Laplacian of "
            f"the graph {gid!r} that laplacian= defines ({L.nnz / m:.1f} entries per row), "
            f"rescaled to start at {a}: it comes from another graph (another k, kernel width "
            "or sampling with the same vertex count) or other Laplacian settings. Pass the "
            "matrix built from that graph with the definition's kind and interval, or leave out "
            "matrix= to build it from the definition."
        )


def resolve_laplacian(laplacian):
    """The rescaled Laplacian described by a ChebConv ``laplacian`` argument, as sorted CSR.

    Args:
        laplacian: one of
            - ``{"graph": <graph definition>, "kind": "normalized"|"combinatorial",
              "interval": [-1, 1], "lmax": "eigsh"|"bound"}``: rebuilt with
              ``deepsphere.geometry.graphs.build_graph`` and ``deepsphere.geometry.laplacian.chebyshev_laplacian``
              (cached per process, so layers sharing a graph build it once);
            - an already rescaled ``(n, n)`` scipy sparse matrix;
            - ``{"csr": {"indptr", "indices", "data", "shape"}}``: the inline form that
              ``get_config`` writes for a matrix (fine for small graphs only).

    Returns:
        ``(n, n)`` ``scipy.sparse.csr_matrix`` float32.
    """
    if sp.issparse(laplacian):
        csr = sparse_ops.check_square_sparse(laplacian)
    elif isinstance(laplacian, dict) and "csr" in laplacian:
        c = laplacian["csr"]
        matrix = sp.csr_matrix(
            (np.asarray(c["data"], np.float32), np.asarray(c["indices"]), np.asarray(c["indptr"])),
            shape=tuple(c["shape"]),
        )
        csr = sparse_ops.check_square_sparse(matrix)
    elif isinstance(laplacian, dict) and "graph" in laplacian:
        unknown = set(laplacian) - _LAPLACIAN_KEYS
        if unknown:
            raise ValueError(
                f"Unknown laplacian keys {sorted(unknown)}; allowed: {sorted(_LAPLACIAN_KEYS)}."
            )
        key = json.dumps(laplacian, sort_keys=True)
        csr = sparse_ops.check_square_sparse(_laplacian_from_definition(key))
    else:
        raise ValueError(
            "laplacian must be a dict {'graph': <definition>, 'kind', 'interval', 'lmax'} or a "
            f"rescaled scipy sparse matrix, got {type(laplacian).__name__}."
        )
    if not sparse_ops.is_symmetric(csr):
        raise ValueError(
            "The Laplacian is not symmetric; build it from symmetric weights (W = max(W, W.T))."
        )
    return csr.astype(np.float32)


def original_initializer(f_in, K):
    """DeepSphere's truncated normal, std ``1 / sqrt(f_in * (K + 1/2) / 2)``."""
    return keras.initializers.TruncatedNormal(stddev=1.0 / math.sqrt(f_in * (K + 0.5) / 2))


@keras.saving.register_keras_serializable(package="deepsphere")
class ChebConv(keras.layers.Layer):
    """Chebyshev graph convolution ``y = sum_{k<K} T_k(L) x W_k (+ b)``.

    ``T_0 = x``, ``T_1 = L x``, ``T_k = 2 L T_{k-1} - T_{k-2}`` on the rescaled Laplacian
    ``L`` (spectrum in [-1, 1]); one sparse x dense product per term for the whole batch, and a
    custom gradient for the whole recursion (see :mod:`deepsphere.layers.sparse_ops`).

    Args:
        filters: number of output features ``f_out`` (>= 1).
        K: number of Chebyshev terms (>= 1); the paper's polynomial order is ``P = K - 1``.
        laplacian: graph-definition dict or rescaled scipy matrix (see :func:`resolve_laplacian`).
            The dict form is recorded by ``get_config``, so a saved model rebuilds the
            Laplacian instead of storing it; a matrix is stored inline in the config.
        matrix: optional prebuilt rescaled Laplacian of the graph that the dict ``laplacian``
            defines (e.g. from the workflow's cached graph file): used instead of rebuilding it,
            while the config records only the definition. Not part of the config. It must be
            that graph's Laplacian (checked: its size always; its entries up to
            ``VERIFY_MAX_VERTICES`` vertices), else the saved model would not load as trained.
        use_bias: add one bias per output feature (the original adds it after batch norm,
            with the separate :class:`~deepsphere.layers.Bias` layer).
        activation: Keras activation applied last.
        kernel_initializer: default: DeepSphere's truncated normal with
            std ``1 / sqrt(f_in (K + 1/2) / 2)``.
        kernel_regularizer, bias_initializer: as in Keras.

    Shapes:
        input ``(batch, n_vertices, f_in)`` -> output ``(batch, n_vertices, filters)``.

    Weights:
        ``kernel`` ``(K, f_in, filters)``, ``kernel[k]`` multiplies ``T_k``. The TF1 original
        stored ``(f_in * K, filters)`` with rows f_in-major, K-minor:
        ``kernel = W_tf1.reshape(f_in, K, filters).transpose(1, 0, 2)``.
        ``bias`` ``(filters,)``. The Laplacian is held as non-trainable variables (the
        backend's layout, see ``sparse_ops.csr_components``) that are *not* written to saved
        weights.
    """

    def __init__(
        self,
        filters,
        K,
        laplacian,
        *,
        matrix=None,
        use_bias=False,
        activation=None,
        kernel_initializer=None,
        kernel_regularizer=None,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(filters, int | np.integer) or filters < 1:
            raise ValueError(f"filters must be a positive integer, got {filters!r}.")
        if not isinstance(K, int | np.integer) or K < 1:
            raise ValueError(
                f"K (number of Chebyshev terms) must be an integer >= 1, got {K!r}; "
                "K = polynomial order + 1 (K=1 is a per-vertex linear map)."
            )
        self.filters = int(filters)
        self.K = int(K)
        if matrix is not None:
            if not (isinstance(laplacian, dict) and "graph" in laplacian):
                raise ValueError(
                    "matrix= is the prebuilt Laplacian of a graph definition: pass "
                    "laplacian={'graph': <definition>, 'kind', 'interval', 'lmax'} with it."
                )
            self._laplacian_matrix = resolve_laplacian(matrix)
            _check_prebuilt_matrix(self._laplacian_matrix, laplacian)
        else:
            self._laplacian_matrix = resolve_laplacian(laplacian)
        if sp.issparse(laplacian):
            c = self._laplacian_matrix
            laplacian = {
                "csr": {
                    "indptr": c.indptr.tolist(),
                    "indices": c.indices.tolist(),
                    "data": c.data.tolist(),
                    "shape": list(c.shape),
                }
            }
        self.laplacian = laplacian
        self.n_vertices = self._laplacian_matrix.shape[0]
        self.use_bias = bool(use_bias)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = (
            None if kernel_initializer is None else keras.initializers.get(kernel_initializer)
        )
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.input_spec = keras.layers.InputSpec(ndim=3)

    def build(self, input_shape):
        n, f_in = input_shape[1], input_shape[2]
        if n is not None and n != self.n_vertices:
            raise ValueError(
                f"ChebConv got inputs with {n} vertices but its Laplacian is "
                f"{self.n_vertices}x{self.n_vertices}; pass the Laplacian of the graph at this "
                "resolution (after pooling the vertex count changes)."
            )
        if f_in is None:
            raise ValueError("ChebConv needs a known feature dimension: inputs (batch, n, f_in).")
        init = self.kernel_initializer or original_initializer(f_in, self.K)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.K, f_in, self.filters),
            initializer=init,
            regularizer=self.kernel_regularizer,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.filters,), initializer=self.bias_initializer
            )
        comps = sparse_ops.csr_components(self._laplacian_matrix)
        self._laplacian_variables = {}
        for name in comps:
            self._laplacian_variables[name] = self.add_weight(
                name=f"laplacian_{name}",
                shape=comps[name].shape,
                dtype=str(comps[name].dtype),
                initializer=_constant(comps[name]),
                trainable=False,
                autocast=False,
            )

    def _operand(self):
        comps = {k: keras.ops.convert_to_tensor(v) for k, v in self._laplacian_variables.items()}
        return sparse_ops.SparseOperand(comps, self.n_vertices, symmetric=True)

    def call(self, inputs):
        x = keras.ops.cast(inputs, self.compute_dtype)
        y = sparse_ops.chebyshev_filter(self._operand(), x, self.kernel)
        if self.bias is not None:
            y = y + keras.ops.cast(self.bias, y.dtype)
        return self.activation(y) if self.activation is not None else y

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.filters)

    # The Laplacian is rebuilt from the config: save only the kernel and bias.
    def _saved_variables(self):
        return [v for v in (self.kernel, self.bias) if v is not None]

    def save_own_variables(self, store):
        for i, v in enumerate(self._saved_variables()):
            store[str(i)] = v

    def load_own_variables(self, store):
        variables = self._saved_variables()
        if len(store.keys()) != len(variables):
            raise ValueError(
                f"ChebConv {self.name!r} expects {len(variables)} saved variables (kernel, bias), "
                f"found {len(store.keys())}; was the model saved with a different use_bias?"
            )
        for i, v in enumerate(variables):
            v.assign(store[str(i)])

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            K=self.K,
            laplacian=self.laplacian,
            use_bias=self.use_bias,
            activation=keras.activations.serialize(self.activation),
            kernel_initializer=None
            if self.kernel_initializer is None
            else keras.initializers.serialize(self.kernel_initializer),
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
        )
        return config


def _constant(array):
    def init(shape, dtype=None):
        return keras.ops.convert_to_tensor(array)

    return init
