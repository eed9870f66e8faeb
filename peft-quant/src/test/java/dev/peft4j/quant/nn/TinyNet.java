package dev.peft4j.quant.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import dev.peft4j.core.nn.Embedding;
import dev.peft4j.core.nn.Linear;
import dev.peft4j.core.nn.LinearLike;
import dev.peft4j.core.nn.Module;
import dev.peft4j.core.nn.ModuleList;

import java.util.ArrayList;
import java.util.List;

/**
 * A small transformer-shaped tree: {@code embeddings.word_embeddings}, {@code
 * layers.N.attn.{q_proj,o_proj}}, {@code layers.N.mlp.{up_proj,down_proj}}, {@code lm_head}. The
 * forward pass is residual blocks of linear layers over the embeddings, then the head.
 */
final class TinyNet extends Module {

    static final int VOCAB = 50;

    final int hidden;

    TinyNet(int hidden, int layers) {
        this.hidden = hidden;
        Container emb = registerModule("embeddings", new Container());
        emb.add("word_embeddings", new Embedding(VOCAB, hidden));
        List<Container> blocks = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            Container block = new Container();
            Container attn = new Container();
            attn.add("q_proj", new Linear(hidden, hidden, true));
            attn.add("o_proj", new Linear(hidden, hidden, false));
            Container mlp = new Container();
            mlp.add("up_proj", new Linear(hidden, 2L * hidden, false));
            mlp.add("down_proj", new Linear(2L * hidden, hidden, true));
            block.add("attn", attn);
            block.add("mlp", mlp);
            blocks.add(block);
        }
        registerModule("layers", new ModuleList<>(blocks));
        registerModule("lm_head", new Linear(hidden, VOCAB, false));
    }

    /** A module that only groups children. */
    static final class Container extends Module {
        <T extends Module> T add(String name, T m) {
            return registerModule(name, m);
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
            throw new UnsupportedOperationException();
        }
    }

    private static NDArray linear(Module parent, String name, ParameterStore ps, NDArray x) {
        return ((LinearLike) parent.child(name)).forward(ps, x, false);
    }

    /** @return logits {@code [batch, seq, VOCAB]} for token ids {@code [batch, seq]} */
    NDArray logits(ParameterStore ps, NDArray ids) {
        Embedding emb = (Embedding) child("embeddings").child("word_embeddings");
        NDArray h = emb.forward(ps, ids, false);
        for (Module block : ((ModuleList<?>) child("layers")).items()) {
            Module attn = block.child("attn");
            h = h.add(linear(attn, "o_proj", ps, linear(attn, "q_proj", ps, h).tanh()));
            Module mlp = block.child("mlp");
            h = h.add(linear(mlp, "down_proj", ps, linear(mlp, "up_proj", ps, h).tanh()));
        }
        return linear(this, "lm_head", ps, h);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore ps, NDList in, boolean training, PairList<String, Object> p) {
        return new NDList(logits(ps, in.singletonOrThrow()));
    }
}
