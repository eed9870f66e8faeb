package dev.peft4j.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.QRDecomposition;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

import java.util.Random;

/**
 * The small dense factorizations DJL lacks, in double precision through EJML: thin QR, thin SVD,
 * the SVD of a low-rank product {@code B·A} (through QR of both factors and an SVD of the small
 * core), and the randomized SVD of {@code torch.svd_lowrank} (large matmuls in DJL, the small
 * factorizations here).
 */
final class LinAlg {

    private LinAlg() {}

    /** A thin SVD {@code M = U·diag(s)·Vᵀ}, singular values descending. */
    record Svd(DMatrixRMaj u, double[] s, DMatrixRMaj v) {}

    static DMatrixRMaj toMatrix(NDArray a) {
        long[] shape = a.getShape().getShape();
        if (shape.length != 2) {
            throw new IllegalArgumentException("expected a matrix, got shape " + a.getShape());
        }
        float[] f;
        try (NDArray f32 = a.toType(DataType.FLOAT32, true)) {
            f = f32.toFloatArray();
        }
        DMatrixRMaj m = new DMatrixRMaj((int) shape[0], (int) shape[1]);
        for (int i = 0; i < f.length; i++) {
            m.data[i] = f[i];
        }
        return m;
    }

    static NDArray toArray(DMatrixRMaj m, NDManager manager) {
        float[] f = new float[m.getNumElements()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) m.data[i];
        }
        return manager.create(f, new Shape(m.numRows, m.numCols));
    }

    /** Thin QR: Q {@code m×min(m,k)} with orthonormal columns, R {@code min(m,k)×k}. */
    static DMatrixRMaj[] thinQr(DMatrixRMaj a) {
        QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(a.numRows, a.numCols);
        if (!qr.decompose(a.copy())) {
            throw new IllegalStateException("QR decomposition failed for a " + a.numRows + "x" + a.numCols + " matrix");
        }
        return new DMatrixRMaj[] {qr.getQ(null, true), qr.getR(null, true)};
    }

    /** Thin SVD, descending. */
    static Svd svd(DMatrixRMaj a) {
        SingularValueDecomposition_F64<DMatrixRMaj> svd =
                DecompositionFactory_DDRM.svd(a.numRows, a.numCols, true, true, true);
        if (!svd.decompose(a.copy())) {
            throw new IllegalStateException("SVD failed for a " + a.numRows + "x" + a.numCols + " matrix");
        }
        DMatrixRMaj u = svd.getU(null, false);
        DMatrixRMaj w = svd.getW(null);
        DMatrixRMaj v = svd.getV(null, false);
        SingularOps_DDRM.descendingOrder(u, false, w, v, false);
        int k = Math.min(w.numRows, w.numCols);
        double[] s = new double[k];
        for (int i = 0; i < k; i++) {
            s[i] = w.get(i, i);
        }
        return new Svd(u, s, v);
    }

    /** SVD of {@code b·a} ({@code b: m×R}, {@code a: R×n}) without forming the product. */
    static Svd svdOfProduct(DMatrixRMaj b, DMatrixRMaj a) {
        DMatrixRMaj[] qrB = thinQr(b);
        DMatrixRMaj at = CommonOps_DDRM.transpose(a, null);
        DMatrixRMaj[] qrA = thinQr(at);
        DMatrixRMaj core = new DMatrixRMaj(qrB[1].numRows, qrA[1].numRows);
        CommonOps_DDRM.multTransB(qrB[1], qrA[1], core);
        Svd c = svd(core);
        DMatrixRMaj u = new DMatrixRMaj(qrB[0].numRows, c.u().numCols);
        CommonOps_DDRM.mult(qrB[0], c.u(), u);
        DMatrixRMaj v = new DMatrixRMaj(qrA[0].numRows, c.v().numCols);
        CommonOps_DDRM.mult(qrA[0], c.v(), v);
        return new Svd(u, c.s(), v);
    }

    /**
     * {@code torch.svd_lowrank(w, q, niter)}: a Gaussian test matrix from {@code random}, {@code
     * niter} subspace iterations, each matmul in DJL on {@code w}'s device and each QR here.
     */
    static Svd randomizedSvd(NDArray w, int q, int niter, Random random) {
        long m0 = w.getShape().get(0);
        long n0 = w.getShape().get(1);
        boolean transposed = m0 < n0;
        try (NDManager sub = w.getManager().newSubManager()) {
            NDArray a = w.toType(DataType.FLOAT32, true);
            a.attach(sub);
            if (transposed) {
                a = a.transpose();
            }
            long n = a.getShape().get(1);
            float[] r = new float[(int) (n * q)];
            for (int i = 0; i < r.length; i++) {
                r[i] = (float) random.nextGaussian();
            }
            NDArray x = a.matMul(sub.create(r, new Shape(n, q)));
            NDArray qm = toArray(thinQr(toMatrix(x))[0], sub);
            NDArray at = a.transpose();
            for (int i = 0; i < niter; i++) {
                qm = toArray(thinQr(toMatrix(at.matMul(qm)))[0], sub);
                qm = toArray(thinQr(toMatrix(a.matMul(qm)))[0], sub);
            }
            DMatrixRMaj qd = toMatrix(qm);
            Svd small = svd(toMatrix(qm.transpose().matMul(a)));
            DMatrixRMaj u = new DMatrixRMaj(qd.numRows, small.u().numCols);
            CommonOps_DDRM.mult(qd, small.u(), u);
            return transposed ? new Svd(small.v(), small.s(), u) : new Svd(u, small.s(), small.v());
        }
    }
}
