//! read-var planning (`plcdiag_s7::plan`): packing to the PDU size, splitting, merging and
//! per-item return codes.

use plcdiag_s7::frame::{DataItem, ReturnCode};
use plcdiag_s7::{ItemError, ReadPlan, VarAddress, VarValue};

fn addrs(list: &[&str]) -> Vec<VarAddress> {
    list.iter().map(|s| s.parse().expect("address")).collect()
}

/// Answers every job with the bytes `byte index mod 256` of the requested range.
fn answer_all(plan: &ReadPlan) -> Vec<Result<Vec<DataItem>, ItemError>> {
    (0..plan.job_count())
        .map(|j| {
            Ok(plan
                .job_items(j)
                .iter()
                .map(|i| {
                    DataItem::bytes(
                        (0..i.count)
                            .map(|k| ((i.address / 8 + u32::from(k)) % 256) as u8)
                            .collect(),
                    )
                })
                .collect())
        })
        .collect()
}

#[test]
fn adjacent_and_overlapping_addresses_of_one_db_merge_into_one_item() {
    let items = addrs(&[
        "DB1.DBW0",
        "DB1.DBW2",
        "DB1.DBD2:REAL",
        "DB1.DBX5.1",
        "DB1.DBB6",
    ]);
    let plan = ReadPlan::new(&items, 240);
    assert_eq!((plan.job_count(), plan.range_count()), (1, 1));
    let job = plan.job_items(0);
    assert_eq!((job[0].db, job[0].address, job[0].count), (1, 0, 7));
    let values = plan.assemble(&answer_all(&plan));
    assert_eq!(values[0], Ok(VarValue::Word(0x0001)));
    assert_eq!(values[1], Ok(VarValue::Word(0x0203)));
    assert_eq!(values[3], Ok(VarValue::Bool(false)));
    assert_eq!(values[4], Ok(VarValue::Byte(6)));
}

#[test]
fn a_gap_or_another_area_keeps_items_apart() {
    let items = addrs(&[
        "DB1.DBB0", "DB1.DBB2", "DB2.DBB1", "MB1", "IB1", "QB1", "T1", "C1",
    ]);
    let plan = ReadPlan::new(&items, 240);
    assert_eq!(plan.range_count(), 8);
    assert_eq!(plan.job_count(), 1);
}

#[test]
fn results_come_back_in_input_order() {
    let items = addrs(&["MB9", "MB1", "MB5"]);
    let plan = ReadPlan::new(&items, 240);
    let values = plan.assemble(&answer_all(&plan));
    assert_eq!(
        values,
        vec![
            Ok(VarValue::Byte(9)),
            Ok(VarValue::Byte(1)),
            Ok(VarValue::Byte(5))
        ]
    );
}

#[test]
fn twenty_five_separate_items_need_two_jobs_at_pdu_240_and_at_960() {
    // Request side: 12 + 12 n <= 240 gives 19 items; the Snap7 limit is 20 items per job.
    let items: Vec<VarAddress> = (0..25)
        .map(|i| format!("MB{}", i * 2).parse().expect("addr"))
        .collect();
    let p240 = ReadPlan::new(&items, 240);
    assert_eq!(p240.job_count(), 2);
    assert_eq!(p240.job_items(0).len(), 19);
    let p960 = ReadPlan::new(&items, 960);
    assert_eq!(p960.job_items(0).len(), 20);
}

#[test]
fn response_size_limits_packing_at_pdu_240_480_and_960() {
    // Ten separate 100-byte ranges: each costs 104 response bytes plus 14 of header.
    let items: Vec<VarAddress> = (0..10)
        .map(|i| {
            format!("DB{}.DBB0:STRING[98]", i + 1)
                .parse()
                .expect("addr")
        })
        .collect();
    assert_eq!(ReadPlan::new(&items, 240).job_count(), 5); // 2 per job: 14 + 208 = 222
    assert_eq!(ReadPlan::new(&items, 480).job_count(), 3); // 4 per job: 14 + 416 = 430
    assert_eq!(ReadPlan::new(&items, 960).job_count(), 2); // 9 per job: 14 + 936 = 950
}

#[test]
fn a_range_longer_than_one_pdu_is_split_and_reassembled() {
    let items = addrs(&["DB1.DBB0:STRING[254]", "DB1.DBD300:DWORD"]);
    let plan = ReadPlan::new(&items, 240);
    let pieces: Vec<u16> = (0..plan.job_count())
        .flat_map(|j| plan.job_items(j))
        .map(|i| i.count)
        .collect();
    assert!(pieces.iter().all(|c| *c <= 222), "{pieces:?}");
    assert_eq!(pieces.iter().map(|c| u32::from(*c)).sum::<u32>(), 256 + 4);
    let values = plan.assemble(&answer_all(&plan));
    assert_eq!(
        values[1],
        Ok(VarValue::DWord(u32::from_be_bytes([44, 45, 46, 47])))
    ); // bytes 300..303 mod 256
    // STRING: max byte 0, actual length byte 1 → 1 char (byte 2).
    assert_eq!(values[0], Ok(VarValue::String("\u{2}".into())));
}

#[test]
fn per_item_return_codes_are_mapped_to_the_items_of_that_range_only() {
    let items = addrs(&["DB1.DBB0", "DB9.DBW0", "MB3"]);
    let plan = ReadPlan::new(&items, 480);
    let mut answers = answer_all(&plan);
    let db9 = plan
        .job_items(0)
        .iter()
        .position(|i| i.db == 9)
        .expect("DB9 item");
    if let Ok(job) = &mut answers[0] {
        job[db9] = DataItem::error(ReturnCode::ObjectDoesNotExist);
    }
    let values = plan.assemble(&answers);
    assert_eq!(values[0], Ok(VarValue::Byte(0)));
    assert_eq!(
        values[1],
        Err(ItemError::Return(ReturnCode::ObjectDoesNotExist))
    );
    assert_eq!(values[2], Ok(VarValue::Byte(3)));
    assert_eq!(
        values[1].clone().expect_err("err").to_string(),
        "CPU returned object does not exist (0x0A)"
    );
}

#[test]
fn short_item_data_is_a_per_item_decode_error() {
    let items = addrs(&["MD0:REAL"]);
    let plan = ReadPlan::new(&items, 240);
    let values = plan.assemble(&[Ok(vec![DataItem::bytes(vec![1, 2])])]);
    assert!(matches!(values[0], Err(ItemError::Decode(_))), "{values:?}");
}
